from django import forms

from webapp.accounts.models import Role


class TeamForm(forms.Form):
    name = forms.CharField(max_length=120)


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.TypedChoiceField(choices=Role.choices, coerce=int, initial=Role.MEMBER)


class MemberRoleForm(forms.Form):
    role = forms.TypedChoiceField(choices=Role.choices, coerce=int)

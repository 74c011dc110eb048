class JobFailed(Exception):
    """An expected problem the user can fix (a deleted dataset, a model that can't load...).

    The message is shown on the job page as it is, so write it for the user."""

"""ML code run by Distillery workers. Must never import Django."""

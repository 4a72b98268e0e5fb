"""Built-in runbooks (YAML data files); this file only makes the folder installable."""

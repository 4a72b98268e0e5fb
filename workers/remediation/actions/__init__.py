"""One module per remediation action; :mod:`workers.remediation.catalogue` lists them."""

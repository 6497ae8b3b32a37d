"""Claims verification: what a person says about themself, checked against the registry."""

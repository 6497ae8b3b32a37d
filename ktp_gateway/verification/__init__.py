"""One tap end to end: the card read, the registry's answer, the field comparison, the outcome.

`findings` is the one table of registry findings; `tap` runs a verification; `taps` and
`lookups` run them on behalf of an access (audit facts, metrics, the wait rule) for the API.
"""

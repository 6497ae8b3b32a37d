"""The "no storage" policy: what may leave the gateway, under which agreement, recorded how.

`policy.Policy` is the one door every card read and registry query goes through: it checks the
agreement (`agreement.py`), the officer and the purpose, lets only granted fields out (`fields`,
`least_data`), wipes buffers (`wipe`), and writes the audit record. `hardening` makes the
process undumpable; the canary run that proves nothing is stored is dev tooling
(`ktp_gateway_dev/canary_run.py`).
"""

"""The "no storage" policy: what may leave the gateway, under which agreement, recorded how.

`policy.Policy` is the one door every card read and registry query goes through: it checks the
agreement, the officer and the purpose, lets only granted fields out, wipes buffers, and writes
the audit record. `hardening` makes the process undumpable; `canary` proves nothing is stored.
"""

"""The KTP-el card application: the card session through the SAM, biodata, the issuer signature.

Above the SAM (it relays every card command through it), below the reader service, which calls
`tap.read_card` for one tap.
"""

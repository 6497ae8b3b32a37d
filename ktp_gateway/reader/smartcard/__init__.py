"""The smartcard edge: APDUs, the processors that send them, the one pyscard module.

The bottom of the reader stack (smartcard <- sam <- card <- readers): nothing here imports the
SAM, the card application or the reader service. `pcsc.py` is the only module that imports
pyscard; `pairs.py` says which PC/SC slot holds a reader's SAM; `pcscd_host.py` what the doctor
asks of the host's pcscd without PC/SC.
"""

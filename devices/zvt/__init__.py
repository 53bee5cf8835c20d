"""ZVT (PA00P015 commands, PA00P016 transport): the ECR side of German/EU card payment terminals.

    apdu.py       APDUs, BMP fields, TLV containers, BCD helpers (pure, no I/O)
    framing.py    serial framing DLE STX .. DLE ETX CRC-16/KERMIT (pure)
    transport.py  TCP (plain APDUs) and serial (framing + ACK/NAK + retransmission)
    driver.py     the ECR: registration, payment, reversal, abort, end of day, status, repeat receipt
    results.py    result codes -> customer and technician texts
    sim.py        the terminal side, with faults and a ledger of charges (`python -m devices.zvt.sim`)
    reconcile.py  journal-backed payments that survive link drops and kiosk crashes
"""

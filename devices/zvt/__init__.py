"""ZVT (PA00P015 commands, PA00P016 transport): the ECR side of German/EU card payment terminals.

    apdu.py       APDUs, BMP fields, TLV containers, BCD helpers (pure, no I/O)
    framing.py    serial framing DLE STX .. DLE ETX CRC-16/KERMIT (pure)
    transport.py  TCP (plain APDUs) and serial (framing + ACK/NAK + retransmission)
    driver.py     the ECR: registration (config byte), payment, reversal, abort, end of day (BMP 60 totals),
                  status, repeat receipt, log off
    results.py    result codes -> customer and technician texts
    sim.py        the terminal side: commands, registration, a ledger of charges (`python -m devices.zvt.sim`)
    sim_link.py   the simulator's serving (TCP, pty), fault steps and acknowledgement exchange
    sim_replies.py  what the simulator reads and writes, as pure functions (property-tested)
    sim_cli.py    the simulator's command line
    reconcile.py  journal-backed payments that survive link drops and kiosk crashes
"""

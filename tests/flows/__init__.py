"""The real bot Application against the emulator on loopback, in this process
(``tests.support.stand``), grouped by audience.
"""

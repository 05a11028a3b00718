"""The scheduled publisher: order, captions, faults, exactly-once, the public site kept in step."""

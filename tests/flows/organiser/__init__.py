"""The campaign staff: /stats and the digest, metrics and health, retention, erasure, private
logs.
"""

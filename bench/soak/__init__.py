"""A Redis-restart soak: alerts every 0.2 s while Redis restarts; was every 202 stored, once?"""

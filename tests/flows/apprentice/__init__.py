"""An apprentice's conversation: consent, steps, photo, commands, their data, fairness under
bursts, answers lost.
"""

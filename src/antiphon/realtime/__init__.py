"""Real time: the NumPy engine, interaction modes, the OSC server, the player and session logs.

Nothing here imports torch: ``antiphon serve`` starts fast and stays small.
"""

"""Real time: interaction modes, the OSC server and encoding, the scheduler, the session, its log
writer and the player (the engine they drive: :mod:`antiphon.model.engine`).

Nothing here imports torch: ``antiphon serve`` starts fast and stays small.
"""

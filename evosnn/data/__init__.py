"""Data sets: the loaders of every kind a search space names, held in memory as uint8 tensors.

:mod:`~evosnn.data.loading` (``load_splits``, the one entry point, and the batch helpers),
:mod:`~evosnn.data.splitting` (seeded stratified splits), the event-camera data
(:mod:`~evosnn.data.events`, :mod:`~evosnn.data.event_files`, :mod:`~evosnn.data.frame_cache`)
and the embedded event task :mod:`~evosnn.data.digits_events`.
"""

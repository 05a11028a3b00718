"""The photo pipeline (``bot/photos/pipeline.py``, ``bot/photos/workers.py``) on real Pillow
images and
hostile uploads.
"""

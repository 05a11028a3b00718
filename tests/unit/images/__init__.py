"""The photo pipeline (the stages of ``bot/photos/``, chained by ``pipeline.py``, and
``workers.py``) on real Pillow images and hostile uploads.
"""

"""A visitor of the channel: the offers button, the « ce métier m'intéresse » deep link and its
counting.
"""

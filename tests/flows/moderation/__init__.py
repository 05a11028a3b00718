"""The moderators' group: cards, decisions, bans, staff commands, start-up checks."""

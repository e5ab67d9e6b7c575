"""What the email domain does when other domains announce a change (volano/core/reactions.py)."""

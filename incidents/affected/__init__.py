"""Telling the people a breach affected (issue 18): the notification decision (decision.py), the
affected-people register (register.py) and notice campaigns (campaigns.py). Tables in
incidents/models/notification.py, register.py and notices.py; the worker that sends notices is
the notifier's."""

"""Every check a message or a request goes through before any I/O, in one place.

- :mod:`.addresses`: what an email address and a phone number look like;
- :mod:`.message`: ``check_message``, a unified Message against one provider's spec
  (types, addresses, header injection, the provider's per-request limits);
- :mod:`.request`: ``check_request``, parameter values against an operation's spec;
- :mod:`.carry`: ``cannot_carry``, whether a provider can carry a message at all (so
  that a Mailer tries another instead).

Each raises (or returns) a typed error and does no I/O. The submodules are imported
where they are used, so that ``import mailspec`` does not load the spec model.
"""

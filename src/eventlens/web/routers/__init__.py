"""The dashboard's routes, one router per concern (see ``eventlens.web.app.create_app``)."""

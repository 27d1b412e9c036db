from aftercare import create_app

app = create_app()

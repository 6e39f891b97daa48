"""/app/: the Mini App's pages."""

urlpatterns = []

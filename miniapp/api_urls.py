"""/app/api/: the Mini App's JSON API, authenticated by `Authorization: tma <initData>`."""

urlpatterns = []

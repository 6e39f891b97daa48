"""REST API: list backups, create one, status, verify (staff only, token or session)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from vpnbot.core.permissions import staff_with

from . import selectors, services, tasks
from .models import Backup


class BackupSerializer(serializers.ModelSerializer):
    class Meta:
        model = Backup
        fields = ["id", "kind", "status", "file_name", "size_bytes", "checksum_sha256", "compression", "encrypted",
                  "duration_ms", "error", "requested_by", "created_at", "finished_at", "verified_at", "verification",
                  "telegram_parts", "telegram_error", "notes"]
        read_only_fields = fields


class QueuedSerializer(serializers.Serializer):
    queued = serializers.BooleanField()
    detail = serializers.CharField()


class BackupListCreate(generics.ListAPIView):
    """GET: backups, newest first. POST: queue a manual backup (202), or 409 when one runs."""

    queryset = Backup.objects.order_by("-created_at", "-id")
    serializer_class = BackupSerializer

    def get_permissions(self):
        if self.request.method == "POST":
            return [p() for p in staff_with("backups.view_backup", "backups.create_backup")]
        return super().get_permissions()

    @extend_schema(request=None, responses={202: QueuedSerializer, 409: QueuedSerializer})
    def post(self, request):
        holder = services.lock_holder()
        if holder:
            return Response({"queued": False, "detail": f"a backup operation is running: {holder.holder}"},
                            status=status.HTTP_409_CONFLICT)
        tasks.run_for_chat.delay("create", None, None, f"api:{request.user.get_username()}")
        return Response({"queued": True, "detail": "a manual backup was queued"}, status=status.HTTP_202_ACCEPTED)


class BackupVerify(APIView):
    """Queue the verification of a backup (restore into a scratch database and compare)."""

    permission_classes = staff_with("backups.view_backup", "backups.create_backup")

    @extend_schema(request=None, responses={202: QueuedSerializer, 404: QueuedSerializer, 409: QueuedSerializer})
    def post(self, request, pk: int):
        backup = selectors.backup_usable(pk)
        if backup is None:
            return Response({"queued": False, "detail": "no such usable backup"}, status=status.HTTP_404_NOT_FOUND)
        holder = services.lock_holder()
        if holder:
            return Response({"queued": False, "detail": f"a backup operation is running: {holder.holder}"},
                            status=status.HTTP_409_CONFLICT)
        tasks.run_for_chat.delay("verify", None, None, f"api:{request.user.get_username()}", "", backup.pk)
        return Response({"queued": True, "detail": f"verification of #{backup.pk} was queued"},
                        status=status.HTTP_202_ACCEPTED)


class BackupStatus(APIView):
    """Last success per kind, failures in 30 days, sizes, free disk, stale schedules."""

    permission_classes = staff_with("backups.view_backup")

    @extend_schema(responses=inline_serializer("BackupStatus", {
        "last": serializers.DictField(child=BackupSerializer(allow_null=True)),
        "failures_30d": serializers.IntegerField(), "total_size": serializers.IntegerField(),
        "count": serializers.IntegerField(), "free_bytes": serializers.IntegerField(allow_null=True),
        "stale": serializers.ListField(child=serializers.DictField()),
        "running": serializers.CharField(allow_null=True),
    }))
    def get(self, request):
        data = services.backup_status()
        return Response({
            "last": {kind: BackupSerializer(b).data if b else None for kind, b in data["last"].items()},
            "failures_30d": data["failures_30d"], "total_size": data["total_size"], "count": data["count"],
            "free_bytes": data["free_bytes"],
            "stale": [{"kind": s["kind"], "last": s["last"]} for s in data["stale"]],
            "running": data["running"].holder if data["running"] else None,
        })

"""uploader_ip: flood limits count uploads per client address

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uploader_ip", sa.String(length=45), nullable=True))
        batch_op.create_index("ix_media_uploader_ip_date", ["uploader_ip", "date_gmt"])
        batch_op.create_index("ix_media_user_date", ["user_id", "date_gmt"])


def downgrade() -> None:
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_index("ix_media_user_date")
        batch_op.drop_index("ix_media_uploader_ip_date")
        batch_op.drop_column("uploader_ip")

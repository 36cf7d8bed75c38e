"""A redelivery attempt's record without a database foreign key: on PostgreSQL the records
become partitioned by day (archive 0011), and a key would have to name the partition key too."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("archive", "0009_drop_receiver_host_trigram"),
        ("redelivery", "0002_one_executor_one_active_run"),
    ]

    operations = [
        migrations.AlterField(
            model_name="redeliveryattempt",
            name="record",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="redeliveries",
                to="archive.archivedrecord",
            ),
        ),
    ]

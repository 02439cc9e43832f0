from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="infusionsession",
            name="revision",
            field=models.PositiveIntegerField(default=0),
        ),
    ]

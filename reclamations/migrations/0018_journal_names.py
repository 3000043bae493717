"""The hash-chained log is called the journal everywhere: its head model follows."""



from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('reclamations', '0017_organisation_mediator'),
    ]

    operations = [
        migrations.RenameModel(
            old_name='AuditChainHead',
            new_name='JournalChainHead',
        ),
        migrations.AlterModelOptions(
            name='journalchainhead',
            options={'verbose_name': 'tête de la chaîne du journal'},
        ),
    ]

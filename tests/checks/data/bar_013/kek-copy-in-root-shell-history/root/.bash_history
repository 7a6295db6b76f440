crudini --set barbican.conf simple_crypto_plugin kek q1Ehz1X-mAyDqEk3Ot5Kb0NQz0tqjFQ7v2GlAX9Pk3s=

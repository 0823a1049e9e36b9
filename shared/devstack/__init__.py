"""The embedded stack: real servers on loopback (Tansu for Kafka, nx-27017 for MongoDB, an
aiosmtpd sink for mail) used by `make run` and by the integration and end-to-end tests."""

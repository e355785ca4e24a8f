# Kafka Connect at the kit's Kafka version with the Debezium PostgreSQL plugin, resolved
# by the same Maven project the native stack uses (stack/maven/debezium).
ARG KAFKA_VERSION=4.3.1
FROM maven:3.9-eclipse-temurin-17 AS plugins
ARG DEBEZIUM_VERSION=3.6.1.Final
COPY stack/maven/debezium/pom.xml /build/pom.xml
RUN mvn -q -B -f /build/pom.xml generate-resources -Ddebezium.version=${DEBEZIUM_VERSION} -Dplugin.dir=/plugins

FROM apache/kafka:${KAFKA_VERSION}
COPY --from=plugins /plugins /opt/connect-plugins
COPY stack/docker/connect-distributed.properties /opt/kafka/config/kit-connect.properties
EXPOSE 8083
CMD ["/opt/kafka/bin/connect-distributed.sh", "/opt/kafka/config/kit-connect.properties"]

-- reads the Iceberg table pyiceberg wrote (tox -e iceberg passes its metadata file as a var)
{{ config(enabled=var('iceberg_metadata', '') != '', materialized='table') }}
select item, amount from iceberg_scan('{{ var("iceberg_metadata", "") }}') order by id

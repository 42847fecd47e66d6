-- needs the inet extension, loaded offline from the profile's extension_directory
{{ config(enabled=var('with_inet', false)) }}
select host('192.168.0.7/24'::INET) as host, family('::1'::INET) as family

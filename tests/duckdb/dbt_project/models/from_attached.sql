-- reads the second DuckDB database the profile attaches read-only as "other"
select count(*) as people, string_agg(name, ',' order by id) as names from other.main.people

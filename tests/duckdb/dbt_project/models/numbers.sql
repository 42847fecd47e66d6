-- a plain table in the main database
select range as n, range * range as square from range(10)

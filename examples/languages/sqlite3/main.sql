-- The first line of standard input says what to do (examples/languages/README.md).
-- Standard input becomes the table `input`, one row per line; the SQL then writes the script to run next.
CREATE TABLE input(line TEXT);
.separator "\037" "\n"
.import /dev/stdin input
CREATE TEMP VIEW command AS SELECT trim(line) AS name FROM input WHERE rowid = 1;
.mode list
SELECT 'hello world' FROM command WHERE name = 'hello';
SELECT line FROM input, command WHERE name = 'echo' AND input.rowid > 1 ORDER BY input.rowid;
.output /tmp/next.sql
SELECT CASE name
  WHEN 'exit' THEN '.exit 3'
  WHEN 'spin' THEN 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n;'
  WHEN 'hog' THEN 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT length(group_concat(hex(randomblob(65536)))) FROM n;'
  ELSE '' END
FROM command;
.output stdout
.read /tmp/next.sql

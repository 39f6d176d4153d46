-- VCDB as the lab's vPostgres holds it: only what certificate tools read
-- and write (docs/lab.md, "VCDB"). vCert 4.9.0 and fixcerts 3.0 read
-- `SELECT ext_id, thumbprint FROM vpx_ext` and write
-- `UPDATE vpx_ext SET thumbprint = ... WHERE ext_id = ...`; a real vpx_ext
-- has more columns (version, company, ...), whose names no source shows.
-- The types are the lab's choice. The `certificate` column Broadcom's
-- vCert writes exists from 9.0 on, a version the lab does not model.
CREATE TABLE vpx_ext (
	ext_id		varchar(255) PRIMARY KEY,
	thumbprint	varchar(255)
);

-- The users table. utf8mb4_unicode_ci exists on MySQL 8.4 and MariaDB 10.11 alike and compares
-- case-insensitively, so the unique key makes usernames unique whatever their case. It is a
-- PAD SPACE collation ('ana' = 'ana '): harmless, since usernames never contain spaces.
-- Timestamps are kept by the server, in the session time zone, which the backend sets to UTC.
CREATE TABLE IF NOT EXISTS users (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  username VARCHAR(32) NOT NULL,
  full_name VARCHAR(100) NOT NULL,
  email VARCHAR(254) NOT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY users_username_unique (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

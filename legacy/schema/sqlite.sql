-- Timing monolith schema (SQLite). Owned by the legacy app; services read it as-is and
-- add only what they need through knex migrations under migrations/.
-- Timestamps are UTC text 'YYYY-MM-DD HH:MM:SS'.
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name VARCHAR(100) NOT NULL,
  email VARCHAR(190) NOT NULL UNIQUE,
  password_hash VARCHAR(255) NOT NULL,
  created_at DATETIME NOT NULL
);
CREATE TABLE IF NOT EXISTS rooms (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name VARCHAR(120) NOT NULL,
  topic VARCHAR(40) NOT NULL,
  description TEXT NOT NULL,
  capacity INTEGER NOT NULL,
  owner_id INTEGER NOT NULL REFERENCES users(id),
  is_public INTEGER NOT NULL DEFAULT 1,
  created_at DATETIME NOT NULL
);
CREATE TABLE IF NOT EXISTS room_tags (
  room_id INTEGER NOT NULL REFERENCES rooms(id),
  tag VARCHAR(40) NOT NULL,
  PRIMARY KEY (room_id, tag)
);
CREATE TABLE IF NOT EXISTS room_members (
  room_id INTEGER NOT NULL REFERENCES rooms(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  joined_at DATETIME NOT NULL,
  PRIMARY KEY (room_id, user_id)
);
CREATE TABLE IF NOT EXISTS checkins (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id),
  room_id INTEGER NULL REFERENCES rooms(id),
  minutes INTEGER NOT NULL,
  note VARCHAR(255) NOT NULL DEFAULT '',
  created_at DATETIME NOT NULL
);
CREATE TABLE IF NOT EXISTS diaries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id),
  title VARCHAR(200) NOT NULL,
  body TEXT NOT NULL,
  mood VARCHAR(20) NOT NULL,
  created_at DATETIME NOT NULL
);

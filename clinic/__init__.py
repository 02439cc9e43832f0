"""Who and where: clinics, chairs, staff and roles, patients, protocols, login tokens, audit."""

module.exports = { name: {{ cookiecutter.component_id | jsonify }}, db: {{ cookiecutter.use_database | jsonify }} };

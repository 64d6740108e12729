// {{ cookiecutter.component_id }} is not rendered in this file

"""Template failures, shown to the mock consumer as Mockoon shows them (a 500 with the message)."""


class TemplateError(Exception):
    """Any failure while compiling or rendering a template."""


class TemplateSyntaxError(TemplateError):
    """The template text does not parse."""


class TemplateBudgetExceeded(TemplateError):
    """Rendering ran past its time, output or iteration budget."""

"""Turn the forms of an admin page's response back into the POST data a browser would send."""

from django import forms


def form_data(form: forms.BaseForm) -> dict:
    """What a browser submits for `form` as rendered: its bound data, else its initial values."""
    data = {}
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        value = form[name].value()
        if isinstance(field.widget, forms.CheckboxInput):
            if value:
                data[key] = "on"
            continue
        if isinstance(value, list | tuple):
            data[key] = [str(v) for v in value]
        elif value is None:
            data[key] = ""
        else:
            data[key] = str(value)
    return data


def formset_data(formset) -> dict:
    data = form_data(formset.management_form)
    for form in formset.forms:
        data.update(form_data(form))
    return data


def admin_page_data(response) -> dict:
    """The POST data of an admin change page as rendered: the form and its inlines."""
    data = form_data(response.context["adminform"].form)
    # (The history's revert form has no inlines.)
    for inline in response.context.get("inline_admin_formsets", []):
        data.update(formset_data(inline.formset))
    return data

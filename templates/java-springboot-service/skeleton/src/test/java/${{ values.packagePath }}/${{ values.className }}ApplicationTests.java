package ${{ values.javaPackage }};

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;

@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT{% if values.database == 'postgres' %}, properties = "spring.datasource.url=jdbc:h2:mem:test"{% endif %})
class ${{ values.className }}ApplicationTests {

    @Autowired
    private TestRestTemplate http;

    @Test
    void reportsHealthy() {
        assertThat(http.getForObject("/actuator/health", String.class)).contains("UP");
    }

    @Test
    void describesItself() {
        assertThat(http.getForObject("/api/info", String.class)).contains("${{ values.name }}");
    }
}

package ${{ values.javaPackage }};

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** Entry point of ${{ values.name }}: ${{ values.description }} */
@SpringBootApplication
public class ${{ values.className }}Application {

    public static void main(String[] args) {
        SpringApplication.run(${{ values.className }}Application.class, args);
    }
}
